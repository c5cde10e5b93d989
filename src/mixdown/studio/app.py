"""The studio's HTTP API and page, as a FastAPI app over one :class:`~mixdown.studio.state.Studio`.

Every ``/api`` request and the page itself need the start's token, as ``?token=`` or
the ``X-Mixdown-Token`` header (none: 401; a wrong one: 403). No path from a request
is ever joined onto the disk: media are addressed by their index among the files the
session references, the page's assets by name among the files shipped in the
package, so ``../`` finds nothing (404).
"""

from __future__ import annotations

import re
import secrets
from importlib import resources
from pathlib import Path
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse

from ..errors import MixdownError
from .state import Studio, StudioError

CHUNK = 1 << 16
MAX_PREVIEW_READ = 1 << 27      # bytes of the preview bundle answered in one piece (a few segments)
TYPES = {".js": "text/javascript", ".css": "text/css", ".html": "text/html", ".svg": "image/svg+xml",
         ".txt": "text/plain", ".md": "text/plain"}
_RANGE = re.compile(r"bytes=(\d*)-(\d*)$")


def static_files() -> dict[str, bytes]:
    """The page's assets by file name, read once from the package."""
    root = resources.files("mixdown.studio") / "static"
    out: dict[str, bytes] = {}
    for entry in root.iterdir():
        if entry.is_file() and Path(entry.name).suffix in TYPES:
            out[entry.name] = entry.read_bytes()
    return out


def byte_range(header: str | None, size: int) -> tuple[int, int] | None:
    """``(first, end)`` of an HTTP ``Range`` header against ``size`` bytes; None for the whole.

    Raises
    ------
    StudioError
        416 for a range that cannot be satisfied or is not one ``bytes=`` range.
    """
    if not header:
        return None
    m = _RANGE.match(header.strip())
    if m is None or (not m.group(1) and not m.group(2)):
        raise StudioError(f"unsupported range {header!r} (one bytes=first-last range)", 416)
    if not m.group(1):
        n = int(m.group(2))
        return max(size - n, 0), size
    a = int(m.group(1))
    b = min(int(m.group(2)) + 1, size) if m.group(2) else size
    if a >= size or b <= a:
        raise StudioError(f"range {header!r} is outside the {size} bytes", 416)
    return a, b


def _ranged(request: Request, size: int, read: Any, media_type: str) -> Response:
    """A 200 or 206 response of ``read(a, b)`` chunks."""
    rng = byte_range(request.headers.get("range"), size)
    a, b = (0, size) if rng is None else rng

    def body():
        pos = a
        while pos < b:
            n = min(CHUNK * 16, b - pos)
            yield read(pos, pos + n)
            pos += n

    headers = {"Accept-Ranges": "bytes", "Content-Length": str(b - a), "Cache-Control": "no-store"}
    if rng is not None:
        headers["Content-Range"] = f"bytes {a}-{b - 1}/{size}"
    return StreamingResponse(body(), status_code=206 if rng is not None else 200, headers=headers,
                             media_type=media_type)


def _file_reader(path: Path) -> Any:
    def read(a: int, b: int) -> bytes:
        with path.open("rb") as fh:
            fh.seek(a)
            return fh.read(b - a)
    return read


def create_app(studio: Studio, token: str) -> FastAPI:
    """The app; ``token`` is the one this start printed."""
    app = FastAPI(title="mixdown studio", docs_url=None, redoc_url=None, openapi_url=None)
    assets = static_files()

    def need_token(request: Request) -> None:
        given = request.headers.get("x-mixdown-token") or request.query_params.get("token")
        if not given:
            raise StudioError("this studio needs its token (?token= or the X-Mixdown-Token header)", 401)
        if not secrets.compare_digest(given.encode(), token.encode()):
            raise StudioError("wrong token", 403)

    @app.exception_handler(StudioError)
    async def _studio_error(_: Request, exc: StudioError) -> JSONResponse:
        return JSONResponse({"error": str(exc)}, status_code=exc.status)

    @app.exception_handler(MixdownError)
    async def _mixdown_error(_: Request, exc: MixdownError) -> JSONResponse:
        return JSONResponse({"error": str(exc)}, status_code=422)

    @app.get("/", dependencies=[Depends(need_token)])
    def page() -> Response:
        return Response(assets["index.html"], media_type="text/html", headers={"Cache-Control": "no-store"})

    @app.get("/static/{name}")
    def static(name: str) -> Response:
        body = assets.get(name)
        if body is None:
            raise StudioError("not found", 404)
        return Response(body, media_type=TYPES[Path(name).suffix], headers={"Cache-Control": "no-cache"})

    api = [Depends(need_token)]
    _session_routes(app, studio, api)
    _view_routes(app, studio, api)
    _audio_routes(app, studio, api)

    @app.api_route("/{rest:path}", methods=["GET", "POST", "PUT", "DELETE"])
    def anything_else(rest: str) -> Response:
        raise StudioError("not found", 404)

    return app


def _session_routes(app: FastAPI, studio: Studio, api: list[Any]) -> None:
    """The session, its saving and exporting, and render jobs."""

    @app.get("/api/config", dependencies=api)
    def config() -> dict[str, Any]:
        from ..analysis.loudness import k_weighting_sos
        from ..session.model import BUS_COLOR, GROUP_COLOR, ROLE_COLORS
        from ..targets import PRESETS
        from .taper import table

        s = studio.session
        return {
            "name": studio.path.name, "imported": studio.imported, "save_path": str(studio.save_path),
            "import_notes": studio.import_notes, "sample_rate": s.sample_rate, "channels": s.channels,
            "frame_rate": [s.timebase.frame_rate.numerator, s.timebase.frame_rate.denominator],
            "drop_frame": s.timebase.drop_frame, "start_frames": s.timebase.start_frames,
            "taper": table(), "kweighting_sos": k_weighting_sos(s.sample_rate).tolist(),
            "colors": {"roles": ROLE_COLORS, "bus": BUS_COLOR, "group": GROUP_COLOR},
            "target": studio.target.to_json(), "targets": {k: v.to_json() for k, v in PRESETS.items()},
            "version": studio.version,
        }

    @app.get("/api/session", dependencies=api)
    def get_session() -> dict[str, Any]:
        return studio.get()

    @app.put("/api/session", dependencies=api)
    async def put_session(request: Request) -> dict[str, Any]:
        try:
            data = await request.json()
        except ValueError:
            raise StudioError("the body is not JSON", 400) from None
        from starlette.concurrency import run_in_threadpool

        return await run_in_threadpool(studio.put, data)

    @app.get("/api/lanes", dependencies=api)
    def lanes() -> dict[str, Any]:
        return studio.lanes()

    @app.get("/api/state", dependencies=api)
    def state() -> dict[str, Any]:
        a = studio.analyses
        return {"version": studio.version, "saved_version": studio.saved_version,
                "speech": a.speech_state, "loudness": a.loudness_state, "preview": studio.preview.layout()}

    @app.post("/api/save", dependencies=api)
    def save() -> dict[str, Any]:
        return {"path": str(studio.save())}

    @app.post("/api/export", dependencies=api)
    async def export(request: Request) -> dict[str, Any]:
        body = await _json(request)
        path, notes = studio.export(str(body.get("format", "xml")))
        return {"path": str(path), "notes": notes}

    @app.post("/api/render", dependencies=api)
    async def render(request: Request) -> dict[str, Any]:
        body = await _json(request)
        return {"id": studio.jobs.start(str(body.get("mode", "render")), body.get("target"))}

    @app.get("/api/render/{job_id}", dependencies=api)
    def render_status(job_id: str) -> dict[str, Any]:
        rec = studio.jobs.status(job_id)
        if rec is None:
            raise StudioError(f"no render job {job_id!r}", 404)
        return rec



def _view_routes(app: FastAPI, studio: Studio, api: list[Any]) -> None:
    """What the page draws: lanes, peaks, curves, speech, loudness, decisions."""

    @app.get("/api/peaks/{track}", dependencies=api)
    def peaks(track: str, start: int = 0, bin: int = 1024, count: int = 1024) -> Response:
        import numpy as np

        lo, hi = studio.lane_peaks(track, start=start, bin=bin, count=count)
        body = np.stack([lo, hi], axis=1).astype("<f4").tobytes()
        return Response(body, media_type="application/octet-stream",
                        headers={"X-Peaks-Start": str(start), "X-Peaks-Bin": str(bin), "Cache-Control": "no-store"})

    @app.get("/api/curve/{strip}", dependencies=api)
    def curve(strip: str, start: int = 0, bin: int = 1024, count: int = 1024) -> dict[str, Any]:
        return studio.curve(strip, start=start, bin=bin, count=count)

    @app.get("/api/speech", dependencies=api)
    def speech() -> dict[str, Any]:
        a = studio.analyses
        return {"state": a.speech_state, "error": a.speech_error, "regions": a.speech}

    @app.get("/api/loudness", dependencies=api)
    def loudness() -> dict[str, Any]:
        a = studio.analyses
        return {"state": a.loudness_state, "data": a.loudness, "target": studio.target.to_json()}

    @app.get("/api/decisions", dependencies=api)
    def decisions() -> list[dict[str, Any]]:
        return studio.decisions



def _audio_routes(app: FastAPI, studio: Studio, api: list[Any]) -> None:
    """Media, the preview bundle and rendered files, by index, with byte ranges."""

    @app.get("/api/media", dependencies=api)
    def media() -> list[dict[str, Any]]:
        return [{"id": i, "name": p.name} for i, p in enumerate(studio.media())]

    @app.get("/api/audio/preview.wav", dependencies=api)
    def preview_audio(request: Request) -> Response:
        pv = studio.preview
        size = pv.size()
        rng = byte_range(request.headers.get("range"), size)
        if rng is None or rng[1] - rng[0] > MAX_PREVIEW_READ:
            return _ranged(request, size, pv.read, "audio/wav")
        body, versions = pv.read_versions(*rng)
        return Response(
            body,
            status_code=206,
            media_type="audio/wav",
            headers={
                "Accept-Ranges": "bytes",
                "Content-Range": f"bytes {rng[0]}-{rng[1] - 1}/{size}",
                "Cache-Control": "no-store",
                "X-Segment-Versions": ",".join(map(str, versions)),
                "Access-Control-Expose-Headers": "X-Segment-Versions",
            },
        )

    @app.get("/api/audio/source/{index}", dependencies=api)
    def source_audio(index: str, request: Request) -> Response:
        files = studio.media()
        if not index.isdecimal() or not 0 <= int(index) < len(files):
            raise StudioError("not found", 404)
        p = files[int(index)]
        return _ranged(request, p.stat().st_size, _file_reader(p), "application/octet-stream")

    @app.get("/api/audio/render/{job_id}/{index}", dependencies=api)
    def render_audio(job_id: str, index: str, request: Request) -> Response:
        p = studio.jobs.path(job_id, int(index)) if index.isdecimal() else None
        if p is None or not p.is_file():
            raise StudioError("not found", 404)
        return _ranged(request, p.stat().st_size, _file_reader(p), "application/octet-stream")



async def _json(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw:
        return {}
    try:
        import json

        body = json.loads(raw)
    except ValueError:
        raise StudioError("the body is not JSON", 400) from None
    if not isinstance(body, dict):
        raise StudioError("the body is a JSON object", 400)
    return body
