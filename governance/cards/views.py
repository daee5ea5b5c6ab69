"""Model card and lineage pages. Thin: forms validate, services write, selectors read."""
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from governance.cards import aws, lineage, pdf, selectors, services, transitions
from governance.cards import content as card_content
from governance.cards.forms import CardContentForm, CardCreateForm, DiffForm, TransitionForm
from governance.cards.models import CardStatus, ExportStatus, ModelCard
from governance.models import ModelVersion
from portal.errors import DomainError
from portal.models import Team
from portal.permissions import has_perm, require, scope
from portal.forms import show_domain_error

ACTIONS = {"submit", "approve", "send_back", "archive"}


@login_required
def card_list(request):
    require(request.user, "view", ModelCard)
    status = request.GET.get("status", "")
    status = status if status in CardStatus.values else ""
    cards = selectors.card_list_for_user(request.user, status=status)
    return render(request, "model_cards/card_list.html", {
        "page": Paginator(cards, 25).get_page(request.GET.get("page")), "statuses": CardStatus.choices,
        "status": status, "query": f"status={status}" if status else "", "can_add": has_perm(request.user, "add", ModelCard),
        "can_sync": has_perm(request.user, "sync", ModelCard)})


def _author_choices(user):
    teams = scope(user, Team.objects.all(), "view")
    from portal.permissions import teams_for
    allowed = teams_for(user, ModelCard, "add")
    if allowed is not None:
        teams = teams.filter(pk__in=allowed)
    versions = scope(user, ModelVersion.objects.select_related("group"), "view").filter(team__in=teams)
    return teams.order_by("name"), versions.order_by("group__name", "-version")


@login_required
def card_create(request):
    require(request.user, "add", ModelCard)
    teams, versions = _author_choices(request.user)
    initial = {}
    version_id = request.GET.get("version")
    if version_id and version_id.isdigit():
        version = versions.filter(pk=version_id).first()
        if version is None:
            raise Http404("That model version does not exist or you may not see it.")
        initial = {**card_content.prefill_from_version(version), "model_version": version.pk, "team": version.team_id,
                   "name": f"{version.group.name}-v{version.version}"[:63]}
    form = CardCreateForm(request.POST or None, initial=initial, teams=teams, versions=versions)
    if request.method == "POST" and form.is_valid():
        try:
            card = services.model_card_create(actor=request.user, team=form.cleaned_data["team"],
                                              name=form.cleaned_data["name"], content=form.content(),
                                              model_version=form.cleaned_data["model_version"])
        except DomainError as error:
            show_domain_error(form, error)
        else:
            messages.success(request, f"Model card {card.name} created as a draft (version {card.current_version}).")
            return redirect("model_cards:card_detail", pk=card.pk)
    return render(request, "model_cards/card_form.html", {"form": form, "title": "New model card"})


@login_required
def card_detail(request, pk):
    card = selectors.card_detail_for_user(request.user, pk)
    user = request.user
    possible = set(transitions.allowed_actions(card.status))
    actions = [action for action in ("submit", "approve", "send_back", "archive")
               if action in possible and has_perm(user, action, ModelCard, card.team_id)]
    versions = list(selectors.versions_of(card))
    diff_form = DiffForm(initial={"a": max(card.current_version - 1, 1), "b": card.current_version})
    ok, reason = pdf.weasyprint_available()
    return render(request, "model_cards/card_detail.html", {
        "card": card, "sections": pdf.card_sections(card), "versions": versions, "actions": actions,
        "can_edit": "edit" in possible and has_perm(user, "change", ModelCard, card.team_id),
        "can_export": has_perm(user, "export", ModelCard, card.team_id),
        "can_revoke": has_perm(user, "share_revoke", ModelCard, card.team_id),
        "shares": list(selectors.shares_of(card)), "exports": list(selectors.exports_of(card)),
        "transition_form": TransitionForm(), "diff_form": diff_form, "pdf_available": ok, "pdf_reason": reason,
        "action_labels": {"submit": "Submit for review", "approve": "Approve", "send_back": "Send back",
                          "archive": "Archive"}})


@login_required
def card_edit(request, pk):
    card = selectors.card_detail_for_user(request.user, pk)
    require(request.user, "change", ModelCard, card.team_id)
    form = CardContentForm(request.POST or None, initial=card_content.form_initial(card.content))
    if request.method == "POST" and form.is_valid():
        try:
            version = services.model_card_save(actor=request.user, card=card, content=form.content(base=card.content))
        except DomainError as error:
            show_domain_error(form, error)
        else:
            messages.success(request, f"Saved as version {version.version}.")
            return redirect("model_cards:card_detail", pk=card.pk)
    return render(request, "model_cards/card_form.html", {"form": form, "card": card,
                                                          "title": f"Edit model card {card.name}"})


@login_required
@require_POST
def card_transition(request, pk, action):
    if action not in ACTIONS:
        raise Http404("Unknown action.")
    card = selectors.card_detail_for_user(request.user, pk)
    require(request.user, action, ModelCard, card.team_id)
    form = TransitionForm(request.POST)
    comment = form.cleaned_data["comment"] if form.is_valid() else ""
    try:
        card = services.model_card_transition(actor=request.user, card=card, action=action, comment=comment)
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, f"Model card {card.name} is now {card.get_status_display().lower()}.")
    return redirect("model_cards:card_detail", pk=card.pk)


@login_required
def card_diff(request, pk):
    card = selectors.card_detail_for_user(request.user, pk)
    form = DiffForm(request.GET or None)
    result, error = None, ""
    if form.is_valid():
        try:
            result = selectors.version_diff(card, form.cleaned_data["a"], form.cleaned_data["b"])
        except DomainError as exc:
            error = exc.message
    return render(request, "model_cards/card_diff.html", {"card": card, "form": form, "diff": result,
                                                          "error": error})


@login_required
def card_pdf(request, pk):
    card = selectors.card_detail_for_user(request.user, pk)
    require(request.user, "export", ModelCard, card.team_id)
    try:
        data = pdf.render_card_pdf(card)
    except RuntimeError as error:
        messages.error(request, str(error))
        return redirect("model_cards:card_detail", pk=card.pk)
    response = HttpResponse(data, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{card.name}-v{card.current_version}.pdf"'
    return response


@login_required
@require_POST
def card_export(request, pk):
    card = selectors.card_detail_for_user(request.user, pk)
    require(request.user, "export", ModelCard, card.team_id)
    services.model_card_export_request(actor=request.user, card=card)
    messages.success(request, "SageMaker is exporting the card to PDF; the download appears below when ready.")
    return redirect("model_cards:card_detail", pk=card.pk)


@login_required
def export_download(request, pk, export_pk):
    export = selectors.export_for_user(request.user, pk, export_pk)
    require(request.user, "export", ModelCard, export.card.team_id)
    if export.status != ExportStatus.COMPLETED:
        messages.error(request, f"This export is {export.get_status_display().lower()}; "
                                "wait for it to finish or request a new one.")
        return redirect("model_cards:card_detail", pk=pk)
    try:
        data = aws.download(export.card.account_id, s3_uri=export.s3_uri)
    except aws.AWS_ERRORS as error:
        messages.error(request, f"The PDF could not be fetched from S3: {aws.error_message(error)}")
        return redirect("model_cards:card_detail", pk=pk)
    response = HttpResponse(data, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{export.card.name}-v{export.version}-sagemaker.pdf"'
    return response


@login_required
@require_POST
def share_revoke(request, pk, share_pk):
    share = selectors.share_for_user(request.user, pk, share_pk)
    require(request.user, "share_revoke", ModelCard, share.card.team_id)
    try:
        services.model_card_share_revoke(actor=request.user, share=share)
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, f"The share with account {share.account_id} is revoked.")
    return redirect("model_cards:card_detail", pk=pk)


@login_required
@require_POST
def card_sync(request):
    require(request.user, "sync", ModelCard)
    try:
        counts = services.model_cards_sync(actor=request.user)
    except aws.AWS_ERRORS as error:
        messages.error(request, f"The sync with SageMaker failed: {aws.error_message(error)}")
    else:
        messages.success(request, f"Synced with SageMaker: {counts['imported']} new cards, "
                                  f"{counts['versions']} new versions, {counts['skipped']} without a known team.")
    return redirect("model_cards:card_list")


@login_required
def lineage_page(request):
    require(request.user, "view", ModelCard)
    arn = request.GET.get("arn", "").strip()
    direction = request.GET.get("direction", "Both")
    graph, error = None, ""
    if arn:
        try:
            graph = lineage.lineage_for_user(request.user, arn, direction=direction)
        except DomainError as exc:
            error = exc.message
    return render(request, "model_cards/lineage.html", {
        "arn": arn, "direction": direction, "graph": graph, "error": error,
        "directions": lineage.DIRECTIONS})
