"""Facts the sales figures need beyond accounts.models: each opportunity's stage history.

The trends (sales.trends) read opportunities themselves; stage-to-stage conversion and time in
stage read OpportunityStageChange, imported from a CRM's history (Salesforce OpportunityHistory,
HubSpot deal-stage history: the `stage_history` import kind) or written by the demo data.
"""

from __future__ import annotations

from django.db import models

from accounts.models import Opportunity


class OpportunityStageChange(models.Model):
    """The opportunity entered `stage` at `entered_at` (as the source recorded it).

    A source may record a row without a change of stage (Salesforce writes an OpportunityHistory
    row when the amount or close date changes too): the analysis counts an entry only when the
    stage differs from the opportunity's previous row (sales.trends.stage_entries).
    """

    opportunity = models.ForeignKey(Opportunity, on_delete=models.CASCADE, related_name="stage_changes",
                                    db_index=False)
    # As the source wrote it; mapped through the stage picklist (accounts.picklists) when read.
    stage = models.CharField(max_length=100)
    entered_at = models.DateTimeField()
    source = models.CharField(max_length=50, help_text="Where it came from: salesforce, hubspot, demo…")
    # The source's row id (Salesforce OpportunityHistory Id); for a source without one (HubSpot's
    # history), the opportunity's id and the moment: either way a re-import never counts twice.
    external_id = models.CharField(max_length=150)

    class Meta:
        ordering = ["opportunity_id", "entered_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["source", "external_id"], name="stage_change_source_external_id_unique"),
        ]
        indexes = [
            # The analysis reads every opportunity's history in time order.
            models.Index(fields=["opportunity", "entered_at"], name="stage_change_opportunity_time"),
        ]

    def __str__(self) -> str:
        return f"{self.stage} @ {self.entered_at:%Y-%m-%d}"
