package dev.healthcarefhir.server;

import ca.uhn.fhir.interceptor.api.Hook;
import ca.uhn.fhir.interceptor.api.Interceptor;
import ca.uhn.fhir.interceptor.api.Pointcut;
import ca.uhn.fhir.rest.api.RequestTypeEnum;
import ca.uhn.fhir.rest.api.server.RequestDetails;
import ca.uhn.fhir.rest.server.exceptions.BaseServerResponseException;
import ca.uhn.fhir.rest.server.exceptions.PreconditionFailedException;
import ca.uhn.fhir.rest.server.exceptions.ResourceVersionConflictException;

/**
 * HAPI answers an update whose {@code If-Match} version is not the current one with
 * 409 Conflict; the FHIR spec (and HTTP) says 412 Precondition Failed. This turns exactly that
 * case (a PUT/PATCH carrying If-Match that fails with a version conflict) into a 412 with the
 * same OperationOutcome message. Other 409s (e.g. delete conflicts) are left alone.
 */
@Interceptor
public class VersionConflictAsPreconditionFailed {

	@Hook(Pointcut.SERVER_PRE_PROCESS_OUTGOING_EXCEPTION)
	public BaseServerResponseException convert(RequestDetails request, Throwable exception) {
		if (!(exception instanceof ResourceVersionConflictException)) {
			return null;
		}
		RequestTypeEnum method = request.getRequestType();
		if (method != RequestTypeEnum.PUT && method != RequestTypeEnum.PATCH) {
			return null;
		}
		String ifMatch = request.getHeader("If-Match");
		if (ifMatch == null || ifMatch.isBlank()) {
			return null;
		}
		ResourceVersionConflictException conflict = (ResourceVersionConflictException) exception;
		PreconditionFailedException replacement =
				new PreconditionFailedException(conflict.getMessage(), conflict.getOperationOutcome());
		return replacement;
	}
}
