"""Celery side of PeaceWatch: the app, beat schedule and thin tasks that call ``worker``.

Only this package imports Celery; ``worker`` never imports ``tasks``.
"""
