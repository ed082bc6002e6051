from django.urls import path

from kindling.plans import views

urlpatterns = [
    path("projects/<slug:slug>/plan", views.plan_usage, name="plan-usage"),
    path("projects/<slug:slug>/plan/history", views.plan_history, name="plan-history"),
    path("projects/<slug:slug>/plan/change", views.plan_change, name="plan-change"),
    path("account/billing", views.billing_page, name="billing"),
    path("account/billing/card", views.billing_card, name="billing-card"),
]
