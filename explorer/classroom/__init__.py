"""A class at once: students' drawings pooled in one store, and what the class view shows.

    store     the class store (SQLAlchemy: SQLite in WAL mode by default, PostgreSQL for a
              deployment of several processes): classes, drawings, schema versions and
              migrations, deletes, rate limits, export as a dataset
    scoring   each shipped model's logits for a drawing, recomputed on the server
    report    the class view's numbers: accuracy, ECE, confusion, reliability, the most
              confident mistakes, the temperature fitted on the class against MNIST's
"""
