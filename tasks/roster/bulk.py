"""Work on a whole roster at once: 100,000 rows are a few hundred thousand objects."""

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def collector_paused() -> Iterator[None]:
    """Keep Python's cycle collector still while a whole roster is read, checked or stored.

    Making that many objects sets off a collection every few hundred of them, and now and then
    a full one that walks every object in the process: a sixth or more of the work, to find
    nothing, since a roster's objects form no cycles and their reference counts free them as
    usual. Any cycle made meanwhile waits for the collector, which runs again when the block
    ends (if it ran before).
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
