"""The portal's own PDF of a card (WeasyPrint), for offline use. Read-only: no writes, no AWS."""
from django.template.loader import render_to_string

from governance.cards import content as card_content

UNAVAILABLE = ("The portal cannot render PDFs on this server (WeasyPrint is not installed or its "
               "libraries are missing); use “Export via SageMaker” instead, or ask an administrator.")


def weasyprint_available() -> tuple[bool, str]:
    try:
        import weasyprint  # noqa: F401
    except Exception as error:   # ImportError, or OSError when pango is missing
        return False, f"{UNAVAILABLE} ({error.__class__.__name__}: {error})"
    return True, ""


def card_sections(card) -> list[dict]:
    """Content grouped per section as (label, text) rows, for the page and the PDF."""
    sections = []
    for key, title in card_content.SECTIONS:
        value = card.content.get(key)
        if value:
            rows = card_content.flatten(value)
            sections.append({"title": title, "rows": [(label.replace("_", " "), text) for label, text in rows.items()]})
    return sections


def render_card_pdf(card) -> bytes:
    """The card's latest version as a PDF. Raises RuntimeError(UNAVAILABLE…) without WeasyPrint."""
    ok, reason = weasyprint_available()
    if not ok:
        raise RuntimeError(reason)
    import weasyprint

    html = render_to_string("model_cards/card_pdf.html", {"card": card, "sections": card_sections(card)})
    return weasyprint.HTML(string=html).write_pdf()
