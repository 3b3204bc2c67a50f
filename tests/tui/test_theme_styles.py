"""Theme styles are resolved once per theme: a list of thousands of rows asks for the same
few on every refresh."""

from __future__ import annotations

from types import SimpleNamespace

from console.tui import formatting


def test_styles_resolved_once_per_theme(monkeypatch):
    resolved = []
    real = formatting._resolve_style

    def counting(app, variable, bold):
        resolved.append((app.theme, variable, bold))
        return real(app, variable, bold)

    monkeypatch.setattr(formatting, "_resolve_style", counting)
    app = SimpleNamespace(
        theme="dark", theme_variables={"text-muted": "auto 60%", "success": "#00ff00"}
    )
    for _ in range(1000):
        muted = formatting.status_text(app, "down")
        formatting.status_text(app, "up")
    assert resolved == [("dark", "text-muted", False), ("dark", "success", False)]
    assert muted.style.color is None  # `auto 60%` is no plain colour: the word stays, uncoloured
    app.theme, app.theme_variables = "light", {"success": "#008800"}
    assert formatting.theme_style(app, "success").color.name == "#008800"
    assert resolved[-1] == ("light", "success", False)
