"""The loopback Bot API server and the Telegram libraries against it — not the bot.

Every other test of the bot talks to Telegram through the loopback server, so these tests pin
down that it behaves as Telegram does (formatting, limits, faults, webhooks, the control API)
and that python-telegram-bot and aiogram, unmodified, work against it. The bot's own code here
is only its two ``BotApi`` adapters (``test_transports.py``). What the bot does with updates is
tested in ``tests/handlers``, ``tests/e2e`` and ``tests/proof`` (the bot's webhook, for one, in
``tests/e2e/test_webhook.py``; ``test_faults_and_modes.py`` tests the server's webhook *sender*).
"""
