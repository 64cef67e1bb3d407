from django.urls import path

from . import page, views

app_name = "customers"
urlpatterns = [
    path("", views.customer_list_view, name="list"),
    path("<int:pk>", views.customer_detail_view, name="detail"),
    path("<int:pk>/edit", page.customer_edit_view, name="edit"),
    path("<int:pk>/notes", page.customer_note_view, name="note"),
    path("<int:pk>/calls", page.customer_call_view, name="log_call"),
    path("<int:pk>/tasks", page.customer_task_add_view, name="task_add"),
    path("<int:pk>/tasks/<int:task_id>/done", page.customer_task_done_view, name="task_done"),
]
