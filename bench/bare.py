"""The baseline: a bare Flask route that renders the same HTML from a static template, with nothing else."""
from __future__ import annotations

import os
from pathlib import Path

from flask import Flask, render_template


def create_bare_app(template_dir: str | Path) -> Flask:
    """A Flask app serving each `<name>.html` in template_dir at `/<name>` through render_template."""
    app = Flask("bare", template_folder=str(template_dir))

    @app.get("/<name>")
    def page(name: str) -> str:
        """Render one static template (the same HTML the app produced)."""
        return render_template(f"{name}.html")

    return app


def from_env() -> Flask:
    """gunicorn factory: templates from BENCH_BARE_DIR."""
    return create_bare_app(os.environ["BENCH_BARE_DIR"])


def write_template(template_dir: Path, name: str, html: str) -> None:
    """Save captured HTML as a template that renders to exactly itself."""
    template_dir.mkdir(parents=True, exist_ok=True)
    (template_dir / f"{name}.html").write_text("{% raw %}" + html + "{% endraw %}", encoding="utf-8")
