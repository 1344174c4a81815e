"""gunicorn settings for the frontend (the Procfile passes the bind address).

Each page waits on the backend, so threads (not processes) give concurrency:
a thread blocked on the backend costs little. WEB_CONCURRENCY and
GUNICORN_THREADS override for bigger pods; the frontend's connection pool to
the backend is sized to the thread count.
"""

import os

workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", "16"))
os.environ.setdefault("BACKEND_POOL_SIZE", str(threads))
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE", "5"))
timeout = 30
graceful_timeout = 10
accesslog = "-"
errorlog = "-"
# The root filesystem is read-only in the cluster: heartbeats go to memory and
# there is no control socket to write under $HOME.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None
control_socket_disable = True
