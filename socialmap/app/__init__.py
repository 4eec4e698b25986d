"""
The app's model: what the Streamlit app (``app.py``) shows, computed, one module per job.

Nothing here imports Streamlit, so every value the app shows is tested without a browser; no module
of the library imports this package (``tests/test_imports.py``). ``socialmap.views`` re-exports
every public name under its old name. The modules, in the order a page uses them:

- :mod:`~socialmap.app.plan`: the Plan tab.
"""
