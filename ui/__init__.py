"""Streamlit UI of the Digit Confidence Explorer; only ui/, app.py and streamlit_app.py use it.

How pages work (checked with streamlit 1.67 and AppTest):
- app.py is the server (`streamlit run app.py`): an st.App whose start-up runs every page once
  (ui.warmup), serving streamlit_app.py, the script each session runs. That sets the page
  config, shows the title and the sidebar model picker (every page shares the model in
  st.session_state[ui.state.MODEL_KEY]), then `st.navigation([...]).run()`.
- Each page is a file `ui/pages/<name>_page.py`, listed in ui.navigation.PAGES (script, title,
  icon), which streamlit_app.py turns into st.Page objects; paths are relative to the root.
  A page file is executed as a script on every run: write its body as a `main()` wrapped in
  `ui.widgets.guarded` and call it at the bottom, so an error becomes st.error, never a
  traceback. Import helpers with `from ui import state, models, widgets` (the root folder
  is on sys.path): state = session keys and the hand-off, models = cached models and the
  picker, widgets = shared widgets and the error guard, lab = the lab's test-set logits.
- In tests: `at = AppTest.from_file("streamlit_app.py"); at.run();
  at.switch_page("ui/pages/<name>_page.py"); at.run()` (the first run registers the pages).
- Cross-page state: use the plain keys in ui.state (TEMPERATURE_KEY, MODEL_KEY,
  CURRENT_IMAGE_KEY, EXAMPLE_KEY/EXAMPLE_LABEL_KEY/EXAMPLE_SOURCE_KEY), never a widget key
  of another page: Streamlit deletes a widget's key on runs of pages that don't render it.
  To open an image in the explorer: `state.send_to_explorer(image28, label, source)` then
  `st.switch_page(state.EXPLORER_PAGE)`. To change T or the model from a page, call
  `state.set_temperature(t)` from a button's on_click callback
  (they set widget keys, which is only allowed before those widgets render).
"""
