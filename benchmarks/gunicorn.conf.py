"""gunicorn as the apps ran under it before granian won `make bench`: kept to measure against.

The same settings for both apps, from the environment benchmarks/load.py sets per app
(the backend 2 processes x 4 threads, keep-alive 75 s; the frontend 2 x 16, 5 s).
"""

import os

workers = int(os.environ["WEB_CONCURRENCY"])
worker_class = "gthread"
threads = int(os.environ["GUNICORN_THREADS"])
keepalive = int(os.environ["GUNICORN_KEEPALIVE"])
timeout = 30
graceful_timeout = 10
accesslog = "-"
errorlog = "-"
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None
control_socket_disable = True
