"""Press notes: facts from the store, rendering, files, review, mail to the media."""
