"""abkit's Streamlit app: the router.

Run with ``abkit app --dir FOLDER`` or
``streamlit run app/streamlit_app.py -- --dir FOLDER`` (else $ABKIT_APP_DIR, else the
repository's data/ folder). The experiment is in the URL (``?exp=NAME``), so a link
opens the same view for a colleague.
"""

from __future__ import annotations

import sys
from pathlib import Path

APP_DIR = str(Path(__file__).resolve().parent)
if APP_DIR not in sys.path:  # `streamlit run` adds it; AppTest and imports may not
    sys.path.insert(0, APP_DIR)

import app_context  # noqa: E402
import streamlit as st  # noqa: E402

st.set_page_config(page_title="abkit", page_icon=":material/science:", layout="wide")

pages = [
    st.Page(file, title=title, icon=icon, url_path=url_path, default=index == 0)
    for index, (url_path, (file, title, icon)) in enumerate(app_context.PAGES.items())
]
app_context.build()
navigation = st.navigation(pages)
navigation.run()
