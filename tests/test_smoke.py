def test_login_page_is_served_per_tenant(client_for, tenant, other_tenant):
    page = client_for(tenant).get("/login")
    assert page.status_code == 200
    assert tenant.name in page.get_data(as_text=True)
    assert other_tenant.name not in page.get_data(as_text=True)


def test_login_works(login_as, create_user, tenant):
    user = create_user(tenant, "admin")
    client = login_as(user, tenant)
    assert "Hello" in client.get("/").get_data(as_text=True)
