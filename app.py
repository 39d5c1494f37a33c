"""``streamlit run app.py`` in a checkout: the app itself lives in ``scrsearch.app``."""

from scrsearch.app.main import main

main()
