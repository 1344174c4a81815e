"""gunicorn settings for the backend (the Procfile passes the bind address).

The backend answers from memory, so a few processes with a few threads each
saturate a core; WEB_CONCURRENCY and GUNICORN_THREADS override for bigger pods.
"""

import os

workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
# Keep connections from the frontend's pooled session open between page views.
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE", "75"))
timeout = 30
graceful_timeout = 10
accesslog = "-"
errorlog = "-"
# The root filesystem is read-only in the cluster: heartbeats go to memory and
# there is no control socket to write under $HOME.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None
control_socket_disable = True
