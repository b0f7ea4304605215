"""The pages (`<name>_page.py`, run as scripts by st.navigation) and their views
(`<name>_view.py`: the parts a page is made of)."""
