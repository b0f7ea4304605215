"""A deployment that holds a lecture hall: `make serve REPLICAS=N` (python -m deploy.serve).

    haproxy.py   the load balancer's config for N replicas (haproxy.cfg.tmpl), finding and
                 installing Debian's haproxy
    postgres.py  a PostgreSQL of its own in the data folder, for the class store
    serve.py     PostgreSQL, N single-process Streamlit replicas and HAProxy, started in that
                 order, waited for, and stopped in the reverse order on Ctrl-C or SIGTERM
    k8s/         the same shape on Kubernetes (not run on a cluster here)
"""
