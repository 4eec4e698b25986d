"""
The app: its model (what ``app.py`` shows, computed), one module per job, and its widgets (:mod:`.ui`).

No module of the model imports Streamlit, so every value the app shows is tested without a browser;
the widgets of each tab are in :mod:`socialmap.app.ui`, which reaches the model through
``socialmap.views`` (it re-exports every public name of the model under its old name). No module of
the library imports this package, and its modules import one another without a circle
(``tests/test_imports.py``). Importing the package imports none of its modules.

The modules, from the bottom (imported by the others) up, in the order a page uses them:

- :mod:`~socialmap.app.labels`: the words and number formats every tab shares.
- :mod:`~socialmap.app.uploads`: a person's files read into frames, every problem a table row.
- :mod:`~socialmap.app.runner`: the analysis run on the inputs; the result as it may be shown, and
  the memos that keep it (each once).
- :mod:`~socialmap.app.explore`: the Explore tab's selection, ranking and headline.
- :mod:`~socialmap.app.profile`: one area's profile.
- :mod:`~socialmap.app.mapview`: the folium map, split into a base and changing layers, offline.
- :mod:`~socialmap.app.about`: the help of every measure and where the data comes from.
- :mod:`~socialmap.app.downloads`: the files a person takes away.
- :mod:`~socialmap.app.plan`: the Plan tab (changes, scenarios, comparison, suggested sites);
  :mod:`~socialmap.app.costs` its costing; :mod:`~socialmap.app.targets` the action plan and
  monitoring.
- :mod:`~socialmap.app.store`: the workspace glue, the app's state kept in one GeoPackage per
  workspace id on the server (``socialmap.store`` re-exports it under its old name).

``socialmap.display`` (plain text and private downloads) stays beside the package: it is the one
piece of the app's layer that drives Streamlit itself.
"""
