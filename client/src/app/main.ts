/** The web app: `/` is the home page, `/d/<name>` the editor. */
import './app.css'
import { renderHome } from './home.js'
import { renderDocument } from './document-page.js'
import { docNameFrom } from './routes.js'

const root = document.getElementById('app')!
const name = docNameFrom(location.pathname, '/d/')
if (name !== null) renderDocument(root, name)
else if (location.pathname.startsWith('/d/')) location.replace('/')
else renderHome(root)
