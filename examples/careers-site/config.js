// Where the careers-site API lives. Empty: the origin that serves this page (the local
// stack serves both). A deployed site sets the API's URL here, and the API allows the
// site's origin through its CORS configuration (template.yaml, CareersSiteOrigin).
window.TALENTOPS_CONFIG = {
  apiBase: ""
};
