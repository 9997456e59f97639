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
    drafts    free text extending the draft (an idle draft is asked about); the preview's buttons
    preview   the preview and the submission (a draft becomes a report only in ``submit``)
    guided    the guided form (/new)
    mine      我的反映 (/my): pages, timelines
    steps     on a filed report: 补充, rating, 催办, 撤回
    rows      the observer and draft rows, what a draft holds, the menu keyboard

Small talk (a greeting, thanks, a question) and the menu's buttons are answered in ``chat``
and never become a draft.
"""

from handlers.observer.chat import on_press, on_private_message

__all__ = ["on_press", "on_private_message"]
