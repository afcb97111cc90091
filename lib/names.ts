/** Name of the one VPN pod's Deployment (gluetun + qBittorrent + slskd). */
export const VPN_POD = 'vpn';
