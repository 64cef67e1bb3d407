"""Who may do what through the API (visibility itself is visible_to(user))."""

from rest_framework.permissions import SAFE_METHODS, BasePermission

from ..roles import is_manager, is_rep, sees_all_leads


class LeadAccess(BasePermission):
    """Everyone with a role reads; managers and reps write; only managers delete."""

    message = "Your role does not allow this."

    def has_permission(self, request, view) -> bool:
        user = request.user
        if not user.is_authenticated:
            return False
        if request.method in SAFE_METHODS:
            return sees_all_leads(user) or is_rep(user)
        if request.method == "DELETE":
            return is_manager(user)
        return is_manager(user) or is_rep(user)


class CanRouteCalls(BasePermission):
    """Routing an inbound call names the caller's lead and may create or assign one: it is the
    switchboard's job, so managers (a telephony integration runs under a manager's token) only."""

    message = "Only managers (or the telephony integration's manager account) route calls."

    def has_permission(self, request, view) -> bool:
        return is_manager(request.user)


class CanEndCalls(BasePermission):
    """Managers end any call; a rep ends the calls routed to them or on leads they can see
    (call_end answers 404 for the others); marketers take no calls."""

    message = "Only managers and sales reps end calls."

    def has_permission(self, request, view) -> bool:
        return is_manager(request.user) or is_rep(request.user)


class CanIngestEmail(BasePermission):
    """A raw message may reach several leads (the thread's, the sender's, copies, bounced
    addresses) whoever can see them: it is a mail-server integration's job, so managers only."""

    message = "Only managers (or the mail integration's manager account) post raw email."

    def has_permission(self, request, view) -> bool:
        return is_manager(request.user)
