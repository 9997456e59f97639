"""Observers in their private chat: registration, reports (free text and guided), status, rating.

States of an observer's draft (``Draft.step``)::

    compose ──submit──▶ (report)          free text: every message extends the draft
       │  └─cancel──▶ (nothing)            and answers with a fresh preview
    guided:kind → … → guided:urgency → compose (the preview, as above)
    followup:<report>   the next message is relayed to the department
    reason:<report>     the next message is the reason for 不满意 (reopens the report)

Every state is a row, so a restart resumes exactly where the observer was.

    chat      where each message and press goes
    signup    /start, invite codes, the shared phone number
    drafts    free text extending the draft; the preview's buttons
    preview   the preview and the submission (a draft becomes a report only in ``submit``)
    guided    the guided form (/new)
    mine      /my, timelines, follow-ups, rating
    rows      the observer and draft rows and what a draft holds
"""

from handlers.observer.chat import on_press, on_private_message

__all__ = ["on_press", "on_private_message"]
