"""What GET /api/films/{id} answers of a job (and the film list of each): its state, progress, estimate and facts,
read under the store's lock so that the numbers belong to one moment."""

from __future__ import annotations

from fractions import Fraction

from .film_jobs import FilmJob, FilmState
from .films import FilmStore


def rounded(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


def job_status(store: FilmStore, job: FilmJob) -> dict:
    """What GET /api/films/{id} answers."""
    with store.condition:
        progress = job.progress if job.state == FilmState.RUNNING else None
        fps = progress.fps if progress is not None else (job.frames_done / job.run_seconds if job.run_seconds else None)
        return {
            "id": job.job_id,
            "name": job.name,
            "state": job.state,
            "frames_done": progress.done if progress is not None else job.frames_done,
            "frames_total": job.frames_total,
            "fps": rounded(fps, 2),
            "eta_seconds": rounded(store.seconds_until_done(job), 1),
            "queue_position": store.position(job),
            "error": job.error,
            "problems": job.problems,
            "duration": job.duration,
            "width": job.width,
            "height": job.height,
            "frame_rate": round(float(Fraction(job.frame_rate)), 3) if job.frame_rate else None,
            "frame_rate_exact": job.frame_rate,
            "sound": job.sound,
            "estimate_seconds": rounded(job.estimate_seconds, 1),
            "stills": job.stills,
            "settings": job.settings,
            "status_url": f"/api/films/{job.job_id}",
            "download_url": f"/api/films/{job.job_id}/download" if job.state == FilmState.DONE else None,
            "created": job.created,
        }
