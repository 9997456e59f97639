"""The web console: dispatch, departments and leaders work the same reports in a browser.

It is another door to the same system, not a copy of it. Every state change calls the same
services the bot's buttons call (``bot.services.reports``), which ask the same authority
policy; the Telegram messages it causes are built by the same handler functions
(``handlers.notify``, ``handlers.card_actions.move``, ``handlers.prompting.finish``) into an
``Outbox`` and written with ``handlers.context.queue_outbox``, exactly as the pipeline writes a
card press's — so the groups and the observer see the same messages whichever door was used.

Sign-in is by one-time links (``bot.web.auth``); what a person sees follows from who they are
now (``bot.services.viewers``): an administrator, a leader (their scope), or a member of
bound groups.
"""
