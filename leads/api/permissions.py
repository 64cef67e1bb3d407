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
