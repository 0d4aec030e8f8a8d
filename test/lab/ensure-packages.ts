// Installs the Debian packages the lab tests use (real sshd, sudo, ansible, nftables…) when missing.
import { ensureLabPackages, LAB_APT_PACKAGES } from './nodes.ts';

await ensureLabPackages();
console.log(`lab packages present: ${LAB_APT_PACKAGES.join(' ')}`);
