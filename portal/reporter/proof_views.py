"""Proofs of report: the reporter's downloads (after filing, after a message) and the public
page where anyone checks a proof. No JavaScript; the check is a plain form post."""

from __future__ import annotations

from flask import Response, render_template, request, session
from flask.typing import ResponseReturnValue

from portal.downloads import attachment_response
from portal.i18n import _
from portal.reporter import bp
from portal.reporter.forms import MAX_ORIGINAL_TEXT, MAX_PROOF_FILE, ProofCheckForm
from portal.reporter.views import RECEIPT_KEY, _Reporter, _signed_in
from portal.services import intake
from portal.services.reporting import proof_items, proofs
from portal.uploads import small_file_route
from portal.web import app_config, db_session, site_look

# The proof file and the original text, with room to spare; the rest of the body is refused.
small_file_route("reporter.verify_proof", MAX_PROOF_FILE + 4 * MAX_ORIGINAL_TEXT)


def proof_keys() -> proofs.ProofKeys:
    config = app_config().proof
    return proofs.ProofKeys.of(config.signing_key, config.previous_public_keys)


def proof_download(proof: proof_items.ProofFile) -> Response:
    """The proof as a small text file to save; never shown inline, never cached."""
    text = proof_items.render(
        proof,
        site_name=site_look().name,
        check_url=f"{app_config().site.base_url}/proof",
    ).encode()
    return attachment_response(proof.file_name, len(text), iter([text]))


def _gone(message: str, status: int) -> ResponseReturnValue:
    return render_template("reporter/already_filed.html", message=message), status


@bp.get("/report/receipt/proof")
def receipt_proof() -> ResponseReturnValue:
    """The proof of the report just filed in this browser, while its receipt is shown."""
    token = session.get(RECEIPT_KEY)
    if not isinstance(token, str) or not token:
        return _gone(_("There is no proof to download in this browser."), 404)
    try:
        pending = intake.show_pending_receipt(
            db_session(), token, pepper=app_config().security.receipt_pepper
        )
    except intake.AlreadyFiledError:
        return _gone(
            _(
                "The proof could be downloaded only until you confirmed that you saved your "
                "receipt. It cannot be made again."
            ),
            410,
        )
    if pending.proof is None:
        return _gone(_("This site does not offer proofs of report."), 404)
    return proof_download(pending.proof)


@bp.get("/case/proofs/<proof_name>")
def message_proof(proof_name: str) -> ResponseReturnValue:
    """The proof of one of the messages sent in this session ("message3")."""
    found = _signed_in()
    if not isinstance(found, _Reporter):
        return found
    kept = proofs.session_proofs(
        db_session(), found.context.case, found.login.token, found.login.cookie_key
    )
    proof = next((p for p in kept if p.item_words.replace(" ", "") == proof_name), None)
    if proof is None:
        return _gone(
            _(
                "There is no proof of that message here. A proof can be downloaded only in the "
                "session in which the message was sent."
            ),
            404,
        )
    return proof_download(proof)


def _submitted_proof(form: ProofCheckForm) -> str | None:
    """The proof's text from the uploaded file or the pasted text; None when neither."""
    upload = request.files.get("proof_file")
    if upload is not None and upload.filename:
        data: bytes = upload.read(MAX_PROOF_FILE + 1)
        if len(data) > MAX_PROOF_FILE:
            raise proofs.ProofFormatError(_("This file is too large to be a proof."))
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            raise proofs.ProofFormatError(
                _("This file is not a proof: a proof is a small text file.")
            ) from None
    text = str(form.proof_text.data or "")
    return text if text.strip() else None


@bp.route("/proof", methods=["GET", "POST"])
def verify_proof() -> ResponseReturnValue:
    """Check a proof against the site's keys, and optionally against the original text."""
    keys = proof_keys()
    form = ProofCheckForm()
    result = None
    problem = ""
    if request.method == "POST":
        if not form.validate():
            errors = [m for field in (form.proof_text, form.original) for m in field.errors]
            problem = (
                errors[0]
                if errors
                else _("The form could not be accepted, perhaps because it was open too long.")
            )
        else:
            try:
                text = _submitted_proof(form)
                if text is None:
                    problem = _("Choose the proof file, or paste the text of the proof.")
                else:
                    result = proofs.check_proof(text, form.original.data or None, keys)
            except proofs.ProofFormatError as exc:
                problem = str(exc)
    return render_template(
        "reporter/proof.html",
        form=form,
        result=result,
        problem=problem,
        current_key=keys.current,
        previous_keys=keys.previous,
        fingerprint=proofs.fingerprint,
    ), (400 if problem else 200)
