"""Debian's dovecot as the reply inbox on loopback: a config in a temp dir, a passwd-file user,
a Maildir owned by nobody; and a TCP relay that drops the connection at a chosen IMAP command,
as a network that fails in the middle does."""

import contextlib
import imaplib
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from types import TracebackType

from tasks.mail.outbox import free_port

DOVECOT = "/usr/sbin/dovecot"
DOVEADM = "/usr/bin/doveadm"
NOBODY = 65534

CONFIG = """\
base_dir = {base}/run
state_dir = {base}/state
log_path = {base}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
mail_location = maildir:{base}/mail/%u
passdb {{
  driver = passwd-file
  args = scheme=SHA512-CRYPT {base}/users
}}
userdb {{
  driver = static
  args = uid={uid} gid={uid} home={base}/mail/%u
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot =
}}
service stats {{
  unix_listener stats-reader {{
    mode = 0666
  }}
  unix_listener stats-writer {{
    mode = 0666
  }}
}}
"""


class DovecotServer:
    """One IMAP user (user, password) on 127.0.0.1:port; stopped, no process is left."""

    def __init__(self, user: str = "media@karyashala.test", password: str = "inbox-pass") -> None:
        self.user = user
        self.password = password
        self.port = free_port()
        self.base = Path(tempfile.mkdtemp(prefix="dovecot-"))
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> "DovecotServer":
        self.base.chmod(0o755)
        mail = self.base / "mail"
        mail.mkdir()
        shutil.chown(mail, NOBODY, NOBODY)
        hashed = subprocess.run(
            [DOVEADM, "pw", "-s", "SHA512-CRYPT", "-p", self.password],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
        users = self.base / "users"
        users.write_text(f"{self.user}:{hashed}\n", encoding="utf-8")
        config = self.base / "dovecot.conf"
        config.write_text(CONFIG.format(base=self.base, uid=NOBODY, port=self.port))
        # Dovecot's own users read these, whatever umask the test process has by now (the
        # settings make it 077): readable by all, as a package's files are.
        for path in (users, config):
            path.chmod(0o644)
        self.process = subprocess.Popen(
            [DOVECOT, "-F", "-c", str(config)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return self
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"dovecot did not listen; see {self.base / 'dovecot.log'}")

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.stop()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.base, ignore_errors=True)

    def client(self) -> imaplib.IMAP4:
        connection = imaplib.IMAP4("127.0.0.1", self.port, timeout=10)
        connection.login(self.user, self.password)
        return connection

    def append(self, *messages: bytes, folder: str = "INBOX") -> None:
        """Deliver the messages as a mail server would (unread, no flags)."""
        connection = self.client()
        try:
            for message in messages:
                status, _ = connection.append(
                    folder, "", imaplib.Time2Internaldate(time.time()), message
                )
                assert status == "OK", status
        finally:
            connection.logout()

    def flags(self, folder: str = "INBOX") -> list[str]:
        """The flags of every message in the folder, in order."""
        connection = self.client()
        try:
            connection.select(folder, readonly=True)
            status, data = connection.fetch("1:*", "(FLAGS)")
            if status != "OK" or data == [None]:
                return []
            return [item.decode() for item in data if isinstance(item, bytes)]
        finally:
            connection.logout()


class DroppingRelay:
    """A TCP relay to the server that closes both ends when the client sends a command with
    this word (say STORE): the connection drops in the middle, as on a bad network."""

    def __init__(self, target_port: int, drop_on: bytes) -> None:
        self.target_port = target_port
        self.drop_on = drop_on.upper()
        self.port = free_port()
        self.dropped = 0
        self.listener = socket.create_server(("127.0.0.1", self.port))
        self.running = True
        self.thread = threading.Thread(target=self.serve, daemon=True)

    def __enter__(self) -> "DroppingRelay":
        self.thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.running = False
        self.listener.close()
        self.thread.join(timeout=5)

    def serve(self) -> None:
        while self.running:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            server = socket.create_connection(("127.0.0.1", self.target_port))
            threading.Thread(target=self.pipe, args=(server, client, False), daemon=True).start()
            threading.Thread(target=self.pipe, args=(client, server, True), daemon=True).start()

    def pipe(self, source: socket.socket, sink: socket.socket, from_client: bool) -> None:
        try:
            while data := source.recv(65536):
                if from_client and self.drop_on in data.upper():
                    self.dropped += 1
                    break
                sink.sendall(data)
        except OSError:
            pass
        for end in (source, sink):
            with contextlib.suppress(OSError):
                end.shutdown(socket.SHUT_RDWR)
            end.close()
