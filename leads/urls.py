from django.urls import path

from . import views
from .views import distribution, duplicates, imports, scoring

app_name = "leads"
urlpatterns = [
    path("", views.lead_list_view, name="list"),
    path("distribution/", distribution.distribution_board_view, name="distribution"),
    path("my-queue/", distribution.my_queue_view, name="my_queue"),
    path("notifications/", distribution.notification_list_view, name="notifications"),
    path("notifications/read", distribution.notifications_read_view, name="notifications_read"),
    path("notifications/<int:pk>", distribution.notification_open_view, name="notification_open"),
    path("leads/new", views.lead_create_view, name="create"),
    path("leads/<int:pk>", views.lead_detail_view, name="detail"),
    path("leads/<int:pk>/edit", views.lead_edit_view, name="edit"),
    path("leads/<int:pk>/notes", views.lead_note_view, name="note"),
    path("leads/<int:pk>/enrich", views.lead_enrich_view, name="enrich"),
    path("leads/<int:pk>/score", views.lead_score_view, name="score"),
    path("leads/<int:pk>/suggestions/<int:suggestion_id>", views.lead_suggestion_view, name="suggestion"),
    path("duplicates", duplicates.duplicate_list_view, name="duplicates"),
    path("scoring/jobs/<int:pk>", scoring.score_job_view, name="score_job"),
    path("duplicates/<int:pk>", duplicates.duplicate_merge_view, name="duplicate_merge"),
    path("imports/", imports.import_list_view, name="imports"),
    path("imports/<int:pk>", imports.import_detail_view, name="import_detail"),
    path("imports/<int:pk>/status", imports.import_status_view, name="import_status"),
    path("imports/<int:pk>/run", imports.import_run_view, name="import_run"),
]
