export { DEFAULT_K8S_BIN_CACHE, ensureRealHelmKubectl, HELM_VERSION, KUBECTL_VERSION, LAB_APT_PACKAGES } from './binaries.ts';
export { buildRepoContent, helmEnv, KUBESPRAY_STANDIN_VERSION, type RepoContent } from './content.ts';
export { startRepoServer, type RepoServer } from './server.ts';
