"""A class at once: students' drawings pooled in one store, and what the class view shows.

    store     the class store (SQLAlchemy: SQLite in WAL mode by default, PostgreSQL for a
              deployment of several processes): classes, drawings, schema versions and
              migrations, deletes, rate limits, export as a dataset
    schema    its tables and the ordered migrations, each run once and recorded
    database  where it lives (URL, $EXPLORER_CLASS_DB, Streamlit's secrets), the engine, and
              what a database failure means to the student (StoreError)
    checks    what a submission must be (label, image, canvas PNG, the server's logits), limits
    export    a class as a dataset: manifest.parquet/.csv beside the PNGs; read back, split
    scoring   each shipped model's logits for a drawing, recomputed on the server
    report    the class view's numbers: accuracy, ECE, confusion, reliability, the most
              confident mistakes, the temperature fitted on the class against MNIST's
"""
