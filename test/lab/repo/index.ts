export { ensureRealHelmKubectl, HELM_VERSION, KUBECTL_VERSION } from './binaries.ts';
export { buildRepoContent, helmEnv, KUBESPRAY_STANDIN_VERSION, type RepoContent } from './content.ts';
export { startRepoServer, type RepoServer } from './server.ts';
