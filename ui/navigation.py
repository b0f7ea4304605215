"""The app's pages in sidebar order: one table for the navigation and the start-up warm-up."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePosixPath


@dataclass(frozen=True)
class PageSpec:
    """One page: its script (relative to streamlit_app.py's folder), sidebar title and icon."""

    script: str
    title: str
    icon: str
    # The URL query strings the start-up warm-up opens the page with ("": plain).
    warm_queries: tuple[str, ...] = ("",)

    @property
    def url_path(self) -> str:
        """The URL path st.Page gives a non-default page: the script's file stem."""
        return PurePosixPath(self.script).stem


PAGES = (  # the first is the default page, served at the root URL
    # With an example too: the path a stroke takes (prediction, figures, cnn_ovr) is warm.
    PageSpec("ui/pages/explorer_page.py", "Explorer", ":material/draw:", ("", "example=0")),
    PageSpec("ui/pages/calibration_page.py", "Calibration", ":material/straighten:"),
    PageSpec("ui/pages/gallery_page.py", "Gallery", ":material/photo_library:"),
    PageSpec("ui/pages/compare_page.py", "Compare models", ":material/compare:"),
    PageSpec("ui/pages/exhibit_page.py", "Double softmax", ":material/science:"),
    PageSpec("ui/pages/saliency_page.py", "Where the model looks", ":material/visibility:"),
    PageSpec("ui/pages/robustness_page.py", "Robustness", ":material/open_with:"),
    PageSpec("ui/pages/heads_page.py", "Softmax, sigmoid or regression?", ":material/call_split:"),
    PageSpec("ui/pages/replay_page.py", "Watch a model learn", ":material/replay:"),
    PageSpec("ui/pages/sets_page.py", "Prediction sets", ":material/checklist:"),
    PageSpec("ui/pages/checklist_page.py", "Debug by symptom", ":material/bug_report:"),
    PageSpec("ui/pages/yours_page.py", "Your model", ":material/upload_file:"),
    PageSpec("ui/pages/class_page.py", "Class", ":material/school:"),
)
