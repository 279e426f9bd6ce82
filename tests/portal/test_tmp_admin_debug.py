from tests.portal.test_admin import *
def test_x(client, db, admin, hanna):
    post_form(client, "/admin/texts", html='<p>a & b <a href="https://x.example">x</a></p><script>s()</script>', action="save")
    print(client.get("/admin/texts").get_data(as_text=True))
    print(client.get(f"/admin/users/{hanna.id}/reset-without-recovery").get_data(as_text=True))
