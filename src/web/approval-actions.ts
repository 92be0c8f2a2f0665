// The dashboard's approval actions: the same operations as `deploy request` and `deploy approve` (src/app/), with
// the dashboard's signing key kept beside its users file; "approve and deploy" starts the deploy as the approver.
import {
  approveRequest,
  giveStanding,
  listApprovals,
  needsRequest,
  requestDeploy,
  signReview,
} from '../app/approvals.js';
import type { ApprovalActions, DeployForm } from './types.js';

export function approvalActions(
  configPath: string | undefined,
  keyDir: string,
  deploy: (env: string, form: DeployForm, who: string) => Promise<string>,
  changed: (env: string) => void,
): ApprovalActions {
  const config = configPath;
  return {
    approvals: () => listApprovals(config),
    needsRequest: (env, version, who) => needsRequest({ env, version, who, config }),
    request: (env, version, who) => requestDeploy({ env, version, requester: who, config }),
    async approve(id, who, andDeploy) {
      const approval = await approveRequest({ id, approver: who, keyDir, config });
      if (!andDeploy) return { approval };
      const run = await deploy(approval.env, { version: approval.version }, who);
      changed(approval.env);
      return { approval, run };
    },
    signReview: (id, who) => signReview({ id, signer: who, keyDir, config }),
    standing: (name, who) => giveStanding({ name, approver: who, keyDir, config }),
  };
}
