"""How the dashboard's entries read in a resident's やりとり履歴 (portal.presenters): an
auditor's look at their records is a look-up, on the tab of exchanges and look-ups, like a
proxy's view."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from dashboard.events import AUDIT_VIEW
from portal.presenters import Presenter, register_presenter

register_presenter(AUDIT_VIEW, Presenter("access", _("Looked at by an auditor")))
