"""A handler checks a reporter's proof of report against the case (audited)."""

from __future__ import annotations

from flask import abort, render_template, request
from flask.typing import ResponseReturnValue

from portal.handler import bp
from portal.handler.case_views import _access
from portal.handler.forms import PlainForm
from portal.i18n import _
from portal.reporter.forms import MAX_PROOF_FILE
from portal.reporter.proof_views import proof_keys
from portal.services.inbox import reference
from portal.services.reporting import proofs
from portal.staff import case_handler_required
from portal.timeutil import utcnow
from portal.uploads import small_file_route
from portal.web import db_session

small_file_route("handler.check_case_proof", MAX_PROOF_FILE)


def _submitted_proof() -> str:
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
    return request.form.get("proof_text", "")[:MAX_PROOF_FILE]


@bp.post("/cases/<uid>/proof")
@case_handler_required
def check_case_proof(uid: str) -> ResponseReturnValue:
    """Whether a proof is valid, belongs to this case, and which item it covers."""
    if not PlainForm().validate():
        abort(400)
    access = _access(uid)
    problem = ""
    result = None
    try:
        text = _submitted_proof()
        if not text.strip():
            problem = _("Choose the proof file, or paste the text of the proof.")
        else:
            result = proofs.check_case_proof(
                db_session(),
                access.case,
                access.case_private_key,
                text,
                keys=proof_keys(),
                handler=access.handler,
                now=utcnow(),
            )
    except proofs.ProofFormatError as exc:
        problem = str(exc)
    return render_template(
        "handler/proof_check.html",
        case=access.case,
        reference=reference(access.case),
        result=result,
        problem=problem,
        form=PlainForm(),
    ), (400 if problem else 200)
