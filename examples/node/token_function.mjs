// The token function from Node.js: one JSON request, one JSON answer (README: "Use connections
// from any backend"). Needs only lambda:InvokeFunction on it (the stack's TokenFunctionInvokePolicy).
import { InvokeCommand, LambdaClient } from "@aws-sdk/client-lambda";

export class TokenFunctionError extends Error {
  constructor(answer) {
    super(answer.message);
    this.code = answer.error; // e.g. "needs_reauthorization", "connection_not_found"
    this.retryable = answer.retryable;
    this.answer = answer;
  }
}

export class TokenFunction {
  constructor(functionName, lambda = new LambdaClient({})) {
    this.functionName = functionName;
    this.lambda = lambda;
  }

  async call(request) {
    const out = await this.lambda.send(
      new InvokeCommand({ FunctionName: this.functionName, Payload: Buffer.from(JSON.stringify(request)) }),
    );
    if (out.FunctionError) throw new Error(`token function failed (${out.FunctionError})`);
    const answer = JSON.parse(Buffer.from(out.Payload).toString("utf8"));
    if (!answer.ok) throw new TokenFunctionError(answer);
    return answer;
  }

  getToken(appUserId, { rejectVersion } = {}) {
    const request = { action: "get_token", app_user_id: appUserId };
    if (rejectVersion !== undefined) request.reject_version = rejectVersion;
    return this.call(request);
  }

  status(appUserId) {
    return this.call({ action: "status", app_user_id: appUserId });
  }

  confirm(result, appUserId) {
    return this.call({ action: "confirm", result, app_user_id: appUserId });
  }

  disconnect(appUserId) {
    return this.call({ action: "disconnect", app_user_id: appUserId });
  }
}
