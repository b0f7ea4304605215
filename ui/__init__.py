"""Streamlit UI of the Digit Confidence Explorer; only ui/ and app.py import streamlit.

How pages work (checked with streamlit 1.67 and AppTest):
- app.py is the entrypoint. It sets the page config, shows the title and the sidebar model
  picker (every page shares the model in st.session_state[ui.state.MODEL_KEY]), then
  `st.navigation([...]).run()`.
- Each page is a file `ui/<name>_page.py`, registered in app.py's PAGES list as
  `st.Page("ui/<name>_page.py", title=..., icon=...)`; paths are relative to app.py.
  A page file is executed as a script on every run: write its body as a `main()` wrapped in
  `ui.widgets.guarded` and call it at the bottom, so an error becomes st.error, never a
  traceback. Import helpers with `from ui import state, models, widgets` (app.py's folder
  is on sys.path): state = session keys and the hand-off, models = cached models and the
  picker, widgets = shared widgets and the error guard, lab = the lab's test-set logits.
- In tests: `at = AppTest.from_file("app.py"); at.run(); at.switch_page("ui/<name>_page.py");
  at.run()` (run once before switch_page so st.navigation has registered the pages).
- Cross-page state: use the plain keys in ui.state (TEMPERATURE_KEY, MODEL_KEY,
  CURRENT_IMAGE_KEY, EXAMPLE_KEY/EXAMPLE_LABEL_KEY/EXAMPLE_SOURCE_KEY), never a widget key
  of another page: Streamlit deletes a widget's key on runs of pages that don't render it.
  To open an image in the explorer: `state.send_to_explorer(image28, label, source)` then
  `st.switch_page(state.EXPLORER_PAGE)`. To change T or the model from a page, call
  `state.set_temperature(t)` from a button's on_click callback
  (they set widget keys, which is only allowed before those widgets render).
"""
