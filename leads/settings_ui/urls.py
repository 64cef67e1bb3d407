"""The Settings pages (included under /settings/ by leads.urls)."""

from django.urls import path

from . import views, views_scoring

app_name = "settings_ui"
urlpatterns = [
    path("", views.settings_index_view, name="index"),
    path("teams/", views.team_list_view, name="teams"),
    path("teams/new", views.team_edit_view, name="team_create"),
    path("teams/<int:pk>/", views.team_edit_view, name="team_edit"),
    path("agents/", views.agent_list_view, name="agents"),
    path("agents/<int:user_id>/", views.agent_edit_view, name="agent_edit"),
    path("territories/", views.territory_list_view, name="territories"),
    path("territories/new", views.territory_edit_view, name="territory_create"),
    path("territories/test", views.territory_tester_view, name="territory_tester"),
    path("territories/<int:pk>/", views.territory_edit_view, name="territory_edit"),
    path("territories/<int:pk>/delete", views.territory_delete_view, name="territory_delete"),
    path("scoring/", views_scoring.scoring_view, name="scoring"),
    path("scoring/rules/new", views_scoring.scoring_rule_edit_view, name="scoring_rule_create"),
    path("scoring/rules/<int:pk>/", views_scoring.scoring_rule_edit_view, name="scoring_rule_edit"),
    path("scoring/rules/<int:pk>/delete", views_scoring.scoring_rule_delete_view, name="scoring_rule_delete"),
]
