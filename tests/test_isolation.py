"""Every route that takes an id answers 404 for another tenant's object.

The routes are read from the URL map, so a new route with an id cannot be forgotten: it
fails here until it has an entry in ID_FACTORIES.
"""

from flask import url_for

# How to make an object of a tenant for each id argument that routes take.
ID_FACTORIES = {
    "user_id": lambda tenant, create_user: create_user(tenant).id,
}
# Arguments that are not object ids, and where they are tested instead.
NOT_IDS = {
    "filename": "static files are not tenant data",
    "token": "signed per tenant; tests/accounts/test_password_reset.py",
}


def _rules_with_ids(app):
    for rule in app.url_map.iter_rules():
        arguments = set(rule.arguments) - set(NOT_IDS)
        if arguments:
            yield rule, arguments


def test_every_id_argument_has_a_factory(app):
    missing = {
        (rule.rule, argument)
        for rule, arguments in _rules_with_ids(app)
        for argument in arguments
        if argument not in ID_FACTORIES
    }
    assert missing == set(), "add these id arguments to ID_FACTORIES"


def test_another_tenants_ids_are_not_found(app, login_as, create_user, tenant, other_tenant):
    admin = create_user(tenant, "admin")
    client = login_as(admin, tenant)
    token = client.csrf_token("/account")
    checked = []
    for rule, arguments in _rules_with_ids(app):
        theirs = {name: ID_FACTORIES[name](other_tenant, create_user) for name in arguments}
        mine = {name: ID_FACTORIES[name](tenant, create_user) for name in arguments}
        with app.test_request_context():
            their_url = url_for(rule.endpoint, **theirs)
            my_url = url_for(rule.endpoint, **mine)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            data = {"csrf_token": token} if method != "GET" else None
            response = client.open(their_url, method=method, data=data)
            assert response.status_code == 404, (method, their_url, response.status_code)
            checked.append((method, rule.rule))
        # The same route with the tenant's own object is found: the 404 above is isolation.
        assert client.get(my_url).status_code == 200, my_url
    assert checked, "no route with an id was checked"
