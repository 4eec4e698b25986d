"""
The app's widgets and layout: one module per tab or panel, each drawing with Streamlit.

``app.py`` (the Streamlit script) sets up the page and calls these in its layout; nothing here
computes what is shown (tables, figures, maps and downloads come from :mod:`socialmap.views`).

- :mod:`~socialmap.app.ui.common`: the constants the panels share, a table's display, the page's CSS,
  and :class:`~socialmap.app.ui.common.Page` (what every tab draws from);
- :mod:`~socialmap.app.ui.cached`: the cached calls of the library (by their arguments only);
- :mod:`~socialmap.app.ui.workspace`: the workspace's id in the URL, its state kept on the server;
- :mod:`~socialmap.app.ui.sidebar`: language, data, analysis and map choices;
- :mod:`~socialmap.app.ui.inputs`: the inputs read, their problems shown, the analysis run;
- :mod:`~socialmap.app.ui.explore`: the Map tab (with its downloads) and the Ranking tab;
- :mod:`~socialmap.app.ui.profile`, :mod:`~socialmap.app.ui.plan`, :mod:`~socialmap.app.ui.about`: the
  other tabs.
"""
