"""Printable invitation posters: a station's name, instructions in Chinese and a QR code.

A station prints the poster and pins it up; an observer scans the QR code with a phone camera,
which opens the bot in Telegram with the invite code already filled in (a deep link
``https://t.me/<bot>?start=CODE``), and presses 开始. The poster is an A5 portrait PNG at
150 dpi, drawn with Pillow in a Chinese font found among the system's fonts.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import segno
from PIL import Image, ImageDraw, ImageFont

from bot.core.messages import t
from bot.errors import ConfigError

SIZE = (874, 1240)  # A5 at 150 dpi
MARGIN = 70
# Debian's fonts-noto-cjk (and the same font elsewhere); the first one found is used.
FONT_PATHS = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc",
    "/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc",
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc",
)


@dataclass(frozen=True, slots=True)
class Invitation:
    """One invite code of a station, and where it leads."""

    code: str
    station: str
    link: str
    expires: dt.datetime  # local time


def deep_link(bot_username: str, code: str) -> str:
    """Return the link that opens the bot with ``/start CODE``."""
    return f"https://t.me/{bot_username.lstrip('@')}?start={code}"


def _font_file() -> str:
    for path in FONT_PATHS:
        if Path(path).is_file():
            return path
    raise ConfigError(
        "no Chinese (CJK) font found for the poster: install Debian's fonts-noto-cjk "
        "(apt-get install fonts-noto-cjk)"
    )


def render(invitation: Invitation, path: Path) -> Path:
    """Draw ``invitation``'s poster to ``path`` (PNG) and return the path."""
    font_file = _font_file()
    image = Image.new("RGB", SIZE, "white")
    draw = ImageDraw.Draw(image)
    width = SIZE[0] - 2 * MARGIN

    def font(size: int) -> ImageFont.FreeTypeFont:
        return ImageFont.truetype(font_file, size)

    y = MARGIN
    for text, size in (
        (t("poster.title"), 46),
        (invitation.station, 40),
    ):
        for line in _wrap(draw, text, font(size), width):
            draw.text((SIZE[0] // 2, y), line, font=font(size), fill="black", anchor="ma")
            y += int(size * 1.35)
    y += 20
    qr = segno.make(invitation.link, error="m")
    scale = max(1, int(min(width, 520) // qr.symbol_size(border=2)[0]))
    code_image = _qr_image(qr, scale)
    image.paste(code_image, ((SIZE[0] - code_image.width) // 2, y))
    y += code_image.height + 24
    for line in t("poster.steps").splitlines():
        for part in _wrap(draw, line, font(30), width):
            draw.text((MARGIN, y), part, font=font(30), fill="black")
            y += 44
    y += 12
    small = font(24)
    footer = t(
        "poster.footer",
        code=invitation.code,
        link=invitation.link,
        until=f"{invitation.expires:%Y-%m-%d %H:%M}",
    )
    for line in footer.splitlines():
        for part in _wrap(draw, line, small, width):
            draw.text((MARGIN, y), part, font=small, fill="#333333")
            y += 34
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path, "PNG", dpi=(150, 150))
    return path


def _qr_image(qr: segno.QRCode, scale: int) -> Image.Image:
    """Return the QR code as a black-on-white image, ``scale`` pixels a module."""
    rows = list(qr.matrix_iter(scale=scale, border=2))
    size = len(rows)
    image = Image.new("1", (size, size), 1)
    pixels = image.load()
    assert pixels is not None
    for y, row in enumerate(rows):
        for x, dark in enumerate(row):
            if dark:
                pixels[x, y] = 0
    return image.convert("RGB")


def _wrap(
    draw: ImageDraw.ImageDraw, text: str, font: ImageFont.FreeTypeFont, width: int
) -> list[str]:
    """Split ``text`` into lines that fit ``width`` pixels (Chinese wraps between characters)."""
    lines, line = [], ""
    for char in text:
        if draw.textlength(line + char, font=font) > width and line:
            lines.append(line)
            line = char
        else:
            line += char
    return [*lines, line] if line else lines
