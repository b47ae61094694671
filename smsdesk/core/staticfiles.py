"""Static files in production: hashed names, compressed, cached for ever (WhiteNoise)."""

from __future__ import annotations

from typing import Any

from whitenoise.storage import CompressedManifestStaticFilesStorage  # type: ignore[import-untyped]

# Third-party files we ship as their authors made them, whose references may point at files
# not shipped: Bootstrap's and Chart.js's source maps, the .woff beside bootstrap-icons'
# .woff2 (every browser we support reads .woff2), swagger-ui's source map (django-ninja).
THIRD_PARTY = ("vendor/", "ninja/")


class StaticFilesStorage(CompressedManifestStaticFilesStorage):
    """WhiteNoise's manifest storage (hashed names, so `Cache-Control: immutable`), except that
    a third-party file's reference to a file that is not shipped is left as written instead
    of stopping `collectstatic`: the browser never needs it (it asked for it in vain before
    too). A missing file referenced by our own CSS or JS still stops it."""

    def hashed_name(self, name: str, content: Any = None, filename: str | None = None) -> str:
        try:
            return super().hashed_name(name, content, filename)
        except ValueError:
            if content is None and name.startswith(THIRD_PARTY):
                return name
            raise
