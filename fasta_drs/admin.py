"""The operators' admin: watch generations and steer them.

The list shows each collection's FASTA request with its state, progress
(refreshed in place while generations run), attempts, timings and size,
under a summary of the whole service. Actions retry, regenerate,
invalidate and pregenerate, the destructive ones after a confirmation page;
each is logged with the operator's name. Rows are made by requests and by
pregeneration, never by hand, and their state fields are read-only. A
second page lists the registry's collections, so an operator can
pregenerate one nobody has asked for yet.
"""

import contextlib
import logging
import statistics
from datetime import timedelta

from django.contrib import admin, messages
from django.contrib.admin.models import CHANGE, LogEntry
from django.db.models import Count, Sum
from django.http import JsonResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from . import services
from .dispatch import get_dispatcher
from .drs.objects import current_policy, forget_ready
from .generator import GenerationError
from .models import FastaRequest
from .outputs import get_outputs
from .registry import get_registry

logger = logging.getLogger(__name__)
State = FastaRequest.State

BADGE_COLOURS = {
    State.QUEUED: "#6c757d",
    State.RUNNING: "#0d6efd",
    State.READY: "#198754",
    State.FAILED: "#dc3545",
}


def summary():
    """Figures for the top of the list: the service at a glance."""
    rows = FastaRequest.objects.all()
    counts = {state: 0 for state in State.values}
    for state, count in rows.values_list("state").annotate(n=Count("id")):
        counts[state] = count
    day_ago = timezone.now() - timedelta(days=1)
    finished = rows.filter(state=State.READY).exclude(finished_at=None)
    recent = [row.manifest or {} for row in finished.order_by("-finished_at")[:100]]
    durations = [m["seconds"]["total"] for m in recent if "seconds" in m]
    throughputs = [
        m["throughput_mb_per_second"]
        for m in recent
        if m.get("throughput_mb_per_second")
    ]
    cached = rows.filter(state=State.READY).aggregate(total=Sum("size"))
    return {
        "counts": counts,
        "last_day": finished.filter(finished_at__gte=day_ago).count(),
        "median_seconds": statistics.median(durations) if durations else None,
        "median_throughput": statistics.median(throughputs) if throughputs else None,
        "bytes_cached": cached["total"] or 0,
    }


def _log_action(request, row, message):
    LogEntry.objects.log_actions(
        user_id=request.user.pk,
        queryset=[row],
        action_flag=CHANGE,
        change_message=message,
        single_object=True,
    )
    logger.info(
        "%s by %s",
        message,
        request.user.get_username(),
        extra={"collection_digest": row.collection_digest, "operator": request.user.pk},
    )


@admin.register(FastaRequest)
class FastaRequestAdmin(admin.ModelAdmin):
    change_list_template = "admin/fasta_drs/fastarequest/change_list.html"
    list_display = (
        "digest_and_aliases",
        "state_badge",
        "progress_bar",
        "backend",
        "attempts",
        "request_count",
        "requested_at",
        "started_at",
        "finished_at",
        "duration",
        "throughput",
        "size_display",
    )
    list_filter = ("state", "backend", ("requested_at", admin.DateFieldListFilter))
    search_fields = ("collection_digest",)
    ordering = ("-requested_at",)
    actions = (
        "retry_selected",
        "regenerate_selected",
        "invalidate_selected",
        "pregenerate_selected",
    )
    fieldsets = (
        (
            None,
            {"fields": ("collection_digest", "state_badge", "progress_bar", "links")},
        ),
        ("Object", {"fields": ("manifest_table",)}),
        (
            "Life",
            {
                "fields": (
                    "backend",
                    "attempts",
                    "request_count",
                    "requested_at",
                    "last_requested_at",
                    "dispatched_at",
                    "started_at",
                    "finished_at",
                    "lease_expires_at",
                    "retry_after",
                    "verified_at",
                )
            },
        ),
        ("Errors", {"fields": ("error_code", "error_message", "error_table")}),
    )

    def has_add_permission(self, request):
        return False

    def get_readonly_fields(self, request, obj=None):
        # Every field is state the generations own; operators act through
        # the actions instead.
        return [
            *(field.name for field in FastaRequest._meta.fields),
            "state_badge",
            "progress_bar",
            "links",
            "manifest_table",
            "error_table",
        ]

    def get_search_results(self, request, queryset, search_term):
        results, may_have_duplicates = super().get_search_results(
            request, queryset, search_term
        )
        digest = (
            get_registry().digest_for_alias(search_term.strip())
            if ":" in search_term
            else None
        )
        if digest:
            results = results | queryset.filter(collection_digest=digest)
        return results, may_have_duplicates

    # Columns.

    @admin.display(description="collection", ordering="collection_digest")
    def digest_and_aliases(self, row):
        collection = _collection(row.collection_digest)
        aliases = ", ".join(collection.aliases) if collection else ""
        return format_html(
            '<code>{}</code><br><small class="aliases">{}</small>',
            row.collection_digest,
            aliases,
        )

    @admin.display(description="state", ordering="state")
    def state_badge(self, row):
        return format_html(
            '<span class="state-badge" data-state="{}" style="background:{};color:#fff;'
            'padding:2px 8px;border-radius:10px;font-weight:bold">{}</span>',
            row.state,
            BADGE_COLOURS.get(row.state, "#6c757d"),
            row.state,
        )

    @admin.display(description="progress")
    def progress_bar(self, row):
        if row.state not in (State.QUEUED, State.RUNNING):
            return "100%" if row.state == State.READY else "-"
        return format_html(
            '<progress class="generation" data-id="{}" max="1" value="{}"></progress> '
            '<span class="percent" data-id="{}">{}%</span>',
            row.pk,
            f"{row.progress:.4f}",
            row.pk,
            f"{row.progress * 100:.0f}",
        )

    @admin.display(description="duration")
    def duration(self, row):
        seconds = (row.manifest or {}).get("seconds", {}).get("total")
        return f"{seconds:.1f} s" if seconds is not None else "-"

    @admin.display(description="MB/s")
    def throughput(self, row):
        figure = (row.manifest or {}).get("throughput_mb_per_second")
        return f"{figure:.1f}" if figure else "-"

    @admin.display(description="size", ordering="size")
    def size_display(self, row):
        return f"{row.size / 1e6:,.1f} MB" if row.size else "-"

    # Detail page.

    @admin.display(description="links")
    def links(self, row):
        drs = f"/ga4gh/drs/v1/objects/{row.collection_digest}"
        parts = [format_html('<a href="{}">DRS object (JSON)</a>', drs)]
        if row.state == State.READY:
            try:
                url = get_outputs().presigned_url(row.collection_digest, "fasta", 3600)
            except GenerationError as error:
                parts.append(format_html("download unavailable: {}", error.message))
            else:
                parts.append(
                    format_html('<a href="{}">download (URL valid 1 hour)</a>', url)
                )
        return format_html_join(" · ", "{}", ((part,) for part in parts))

    @admin.display(description="manifest")
    def manifest_table(self, row):
        manifest = row.manifest or {}
        if not manifest:
            return "no manifest yet"
        shown = (
            ("size", f"{manifest.get('size', 0):,} bytes"),
            ("sha-256", manifest.get("sha256")),
            ("md5", manifest.get("md5")),
            ("line width", manifest.get("line_width")),
            ("sequences", manifest.get("sequence_count")),
            ("bases", f"{manifest.get('bases', 0):,}"),
            ("created", manifest.get("created_time")),
            ("generator", manifest.get("generator_version")),
            ("compression", _compression(manifest.get("compression") or {})),
            ("seconds", _stages(manifest.get("seconds") or {})),
            ("throughput", f"{manifest.get('throughput_mb_per_second')} MB/s"),
        )
        return format_html(
            '<table class="manifest">{}</table>',
            format_html_join("", "<tr><th>{}</th><td><code>{}</code></td></tr>", shown),
        )

    @admin.display(description="attempts")
    def error_table(self, row):
        if not row.error_history:
            return "no failed attempt"
        return format_html(
            '<table class="errors"><tr><th>attempt</th><th>time</th><th>code</th>'
            "<th>message</th></tr>{}</table>",
            format_html_join(
                "",
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                (
                    (
                        item.get("attempt"),
                        item.get("time"),
                        item.get("code"),
                        item.get("message"),
                    )
                    for item in row.error_history
                ),
            ),
        )

    # Actions.

    @admin.action(description="Retry the selected failed generations")
    def retry_selected(self, request, queryset):
        started = 0
        for row in queryset.filter(state=State.FAILED):
            _, dispatched = self._guarded(
                request, services.retry, row, get_dispatcher(), current_policy()
            )
            if dispatched:
                started += 1
                _log_action(request, row, "retried the generation")
        self.message_user(
            request, f"Started {started} new attempt(s).", messages.SUCCESS
        )

    @admin.action(
        description="Regenerate the selected (delete the objects, generate again)"
    )
    def regenerate_selected(self, request, queryset):
        confirmation = self._confirm(
            request, queryset, "regenerate_selected", "regenerate"
        )
        if confirmation:
            return confirmation
        for row in queryset:
            self._guarded(
                request,
                services.regenerate,
                row,
                get_outputs(),
                get_dispatcher(),
                current_policy(),
            )
            forget_ready(row.collection_digest)
            _log_action(request, row, "regenerated the FASTA")
        self.message_user(
            request, f"Regenerating {queryset.count()} object(s).", messages.SUCCESS
        )

    @admin.action(description="Invalidate the selected (delete the objects)")
    def invalidate_selected(self, request, queryset):
        confirmation = self._confirm(
            request, queryset, "invalidate_selected", "invalidate"
        )
        if confirmation:
            return confirmation
        for row in queryset:
            services.forget_objects(row, get_outputs())
            forget_ready(row.collection_digest)
            _log_action(request, row, "invalidated the FASTA")
        self.message_user(
            request,
            f"Invalidated {queryset.count()} object(s); the next request for "
            "each generates it again.",
            messages.SUCCESS,
        )

    @admin.action(
        description="Pregenerate the selected (start if not ready or running)"
    )
    def pregenerate_selected(self, request, queryset):
        started = self._pregenerate(request, queryset)
        self.message_user(
            request, f"Started {started} generation(s).", messages.SUCCESS
        )

    def _pregenerate(self, request, rows):
        """Start a generation for each row that needs one; return how many."""
        started = 0
        now = timezone.now()
        for row in rows:
            if not services.is_due(row, current_policy(), now):
                continue
            _, dispatched = self._guarded(
                request,
                services.start_generation,
                row,
                get_dispatcher(),
                current_policy(),
            )
            if dispatched:
                started += 1
                _log_action(request, row, "pregenerated the FASTA")
        return started

    def _guarded(self, request, action, *arguments):
        try:
            return action(*arguments)
        except services.DispatchUnavailable as exc:
            self.message_user(request, str(exc), messages.ERROR)
            return None, False

    def _confirm(self, request, queryset, action, verb):
        """Ask before a destructive action; None once confirmed."""
        if request.POST.get("confirmed") == "yes":
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": f"Are you sure you want to {verb} these?",
            "rows": queryset,
            "action": action,
            "verb": verb,
            "opts": self.model._meta,
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/fasta_drs/confirm_action.html", context)

    # Pages of its own.

    def get_urls(self):
        own = [
            path(
                "progress/",
                self.admin_site.admin_view(self.progress_view),
                name="fasta_drs_progress",
            ),
            path(
                "collections/",
                self.admin_site.admin_view(self.collections_view),
                name="fasta_drs_collections",
            ),
        ]
        return own + super().get_urls()

    def changelist_view(self, request, extra_context=None):
        extra_context = {**(extra_context or {}), "summary": summary()}
        return super().changelist_view(request, extra_context=extra_context)

    def progress_view(self, request):
        """JSON progress of the given rows, read from their status objects."""
        ids = [
            int(part)
            for part in request.GET.get("ids", "").split(",")
            if part.isdigit()
        ]
        outputs = get_outputs()
        policy = current_policy()
        answer = {}
        for row in FastaRequest.objects.filter(pk__in=ids[:100]):
            # With S3 unreachable, show what the database has.
            with contextlib.suppress(GenerationError):
                row = services.learn_state(row, outputs, policy)
            answer[row.pk] = {"state": row.state, "progress": row.progress}
        return JsonResponse(answer)

    def collections_view(self, request):
        """The registry's collections with their FASTA state."""
        registry = get_registry()
        if request.method == "POST":
            known = [
                d for d in request.POST.getlist("digest") if registry.collection(d)
            ]
            rows = [
                FastaRequest.objects.get_or_create(collection_digest=d)[0]
                for d in known
            ]
            started = self._pregenerate(request, rows)
            self.message_user(
                request, f"Started {started} generation(s).", messages.SUCCESS
            )
            return redirect(reverse("admin:fasta_drs_collections"))
        states = dict(FastaRequest.objects.values_list("collection_digest", "state"))
        collections = []
        for digest in registry.collection_digests():
            collection = registry.collection(digest)
            collections.append(
                {
                    "digest": digest,
                    "aliases": ", ".join(collection.aliases) if collection else "",
                    "sequences": len(collection.names) if collection else 0,
                    "bases": collection.bases if collection else 0,
                    "state": states.get(digest, "not requested"),
                }
            )
        context = {
            **self.admin_site.each_context(request),
            "title": "Collections of the registry",
            "collections": collections,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/fasta_drs/collections.html", context)


def _compression(settings):
    return (
        f"{settings.get('format', '?')}, {settings.get('library', '?')}, level "
        f"{settings.get('level', '?')}, {settings.get('threads', '?')} threads"
    )


def _stages(seconds):
    return " · ".join(f"{stage} {value:.2f} s" for stage, value in seconds.items())


def _collection(digest):
    try:
        return get_registry().collection(digest)
    except GenerationError:
        return None
