<?php
/**
 * WooCommerce > Storecare: the settings page, the Connect button, and the "Open Storecare" item.
 *
 * Connect: a server-to-server POST (over https) to Storecare's /connect/woocommerce/start with this
 * store's address; Storecare answers a link of its own, which the admin's browser follows to
 * WooCommerce's approval screen (/wc-auth/v1/authorize). The storefront secret is not sent: after
 * the approval, Storecare reads it from this plugin's key-authenticated route (see the storefront
 * class), so only someone holding this store's API keys can learn it.
 *
 * A store connected from Storecare's admin before the plugin was installed: the settings page, not
 * connected, says hello to Storecare (class-storecare-connection.php), which reads the same route with
 * the keys it holds; the page then shows the store connected, with no second key.
 *
 * @package Storecare
 */

defined( 'ABSPATH' ) || exit;

/**
 * Admin screens.
 */
final class Storecare_Admin {

	const PAGE      = 'storecare';
	const OPEN_PAGE = 'storecare-open';

	/**
	 * Hook in.
	 */
	public static function init() {
		add_action( 'admin_menu', array( __CLASS__, 'menu' ) );
		add_action( 'admin_init', array( __CLASS__, 'register_settings' ) );
		add_action( 'admin_post_storecare_connect', array( __CLASS__, 'connect' ) );
	}

	/**
	 * WooCommerce > Storecare and WooCommerce > Open Storecare.
	 */
	public static function menu() {
		add_submenu_page( 'woocommerce', 'Storecare', 'Storecare', 'manage_woocommerce', self::PAGE, array( __CLASS__, 'render' ) );
		$hook = add_submenu_page( 'woocommerce', __( 'Open Storecare', 'storecare' ), __( 'Open Storecare', 'storecare' ), 'manage_woocommerce', self::OPEN_PAGE, '__return_null' );
		if ( $hook ) {
			add_action( 'load-' . $hook, array( __CLASS__, 'open' ) ); // Before any output: a redirect.
		}
	}

	/**
	 * The app address setting.
	 */
	public static function register_settings() {
		register_setting(
			'storecare',
			STORECARE_OPTION_APP_URL,
			array(
				'type'              => 'string',
				'sanitize_callback' => array( __CLASS__, 'sanitize_app_url' ),
				'default'           => STORECARE_DEFAULT_APP_URL,
			)
		);
	}

	/**
	 * Keep only an https address (http only when STORECARE_ALLOW_HTTP is set, for local demos).
	 *
	 * @param mixed $value The submitted value.
	 * @return string
	 */
	public static function sanitize_app_url( $value ) {
		$url = rtrim( esc_url_raw( trim( (string) $value ), array( 'https', 'http' ) ), '/' );
		if ( 0 === strpos( $url, 'https://' ) || ( storecare_allows_http() && 0 === strpos( $url, 'http://' ) ) ) {
			return $url;
		}
		add_settings_error( STORECARE_OPTION_APP_URL, 'storecare_app_url', __( 'The Storecare address must start with https://.', 'storecare' ) );
		return storecare_app_url();
	}

	/**
	 * The settings page.
	 */
	public static function render() {
		if ( ! current_user_can( 'manage_woocommerce' ) ) {
			return;
		}
		$error = isset( $_GET['storecare_error'] ) ? sanitize_text_field( wp_unslash( $_GET['storecare_error'] ) ) : ''; // phpcs:ignore WordPress.Security.NonceVerification.Recommended
		$connected = (int) get_option( STORECARE_OPTION_CONNECTED, 0 );
		$checking  = ! $connected && Storecare_Connection::say_hello();
		?>
		<div class="wrap">
			<h1>Storecare</h1>
			<?php settings_errors( STORECARE_OPTION_APP_URL ); ?>
			<?php if ( '' !== $error ) : ?>
				<div class="notice notice-error"><p><?php echo esc_html( $error ); ?></p></div>
			<?php endif; ?>
			<form method="post" action="options.php">
				<?php settings_fields( 'storecare' ); ?>
				<table class="form-table" role="presentation">
					<tr>
						<th scope="row"><label for="storecare_app_url"><?php esc_html_e( 'Storecare address', 'storecare' ); ?></label></th>
						<td><input type="url" class="regular-text" id="storecare_app_url" name="<?php echo esc_attr( STORECARE_OPTION_APP_URL ); ?>" value="<?php echo esc_attr( storecare_app_url() ); ?>"></td>
					</tr>
				</table>
				<?php submit_button( __( 'Save', 'storecare' ), 'secondary' ); ?>
			</form>
			<h2><?php esc_html_e( 'Connection', 'storecare' ); ?></h2>
			<p>
				<?php
				if ( $connected ) {
					/* translators: %s: date and time */
					echo esc_html( sprintf( __( 'Connected to Storecare since %s.', 'storecare' ), wp_date( get_option( 'date_format' ) . ' ' . get_option( 'time_format' ), $connected ) ) );
				} elseif ( $checking ) {
					esc_html_e( 'Checking with Storecare whether this store is connected already. Reload this page in a moment; if it still says so, connect below.', 'storecare' );
				} else {
					esc_html_e( 'Not connected yet. Connecting asks you to approve read and write access to your orders and customers.', 'storecare' );
				}
				?>
			</p>
			<form method="post" action="<?php echo esc_url( admin_url( 'admin-post.php' ) ); ?>">
				<input type="hidden" name="action" value="storecare_connect">
				<?php wp_nonce_field( 'storecare_connect' ); ?>
				<?php submit_button( $connected ? __( 'Reconnect', 'storecare' ) : __( 'Connect', 'storecare' ), 'primary', 'submit', false ); ?>
				<?php if ( $connected ) : ?>
					<a class="button" href="<?php echo esc_url( admin_url( 'admin.php?page=' . self::OPEN_PAGE ) ); ?>"><?php esc_html_e( 'Open Storecare', 'storecare' ); ?></a>
				<?php endif; ?>
			</form>
		</div>
		<?php
	}

	/**
	 * The Connect button: ask Storecare for a connection link, then send the admin there.
	 */
	public static function connect() {
		if ( ! current_user_can( 'manage_woocommerce' ) ) {
			wp_die( esc_html__( 'You are not allowed to connect this store.', 'storecare' ), 403 );
		}
		check_admin_referer( 'storecare_connect' );
		storecare_secret(); // Ready before Storecare asks for it.
		$app = storecare_app_url();
		if ( 0 !== strpos( $app, 'https://' ) && ! storecare_allows_http() ) {
			self::back( __( 'The Storecare address must start with https://.', 'storecare' ) );
		}
		$response = wp_remote_post(
			$app . '/connect/woocommerce/start',
			array(
				'timeout' => 15,
				'headers' => array( 'Accept' => 'application/json' ),
				'body'    => array( 'store_url' => home_url( '/' ) ),
			)
		);
		if ( is_wp_error( $response ) ) {
			self::back( __( 'Storecare could not be reached. Check its address and try again.', 'storecare' ) );
		}
		$body = json_decode( wp_remote_retrieve_body( $response ), true );
		if ( 200 !== wp_remote_retrieve_response_code( $response ) || ! is_array( $body ) ) {
			$detail = is_array( $body ) && isset( $body['detail'] ) ? (string) $body['detail'] : __( 'Storecare refused the request.', 'storecare' );
			self::back( $detail );
		}
		$target = isset( $body['redirect_url'] ) ? (string) $body['redirect_url'] : '';
		if ( 0 !== strpos( $target, $app . '/connect/woocommerce/' ) ) { // Only ever on to Storecare itself.
			self::back( __( 'Storecare answered with an unexpected address.', 'storecare' ) );
		}
		wp_redirect( $target ); // phpcs:ignore WordPress.Security.SafeRedirect.wp_redirect_wp_redirect -- checked above.
		exit;
	}

	/**
	 * WooCommerce > Open Storecare: a link signed for this store, valid for two minutes.
	 */
	public static function open() {
		if ( ! current_user_can( 'manage_woocommerce' ) ) {
			wp_die( esc_html__( 'You are not allowed to open Storecare for this store.', 'storecare' ), 403 );
		}
		$link = Storecare_Signing::admin_link( storecare_app_url(), storecare_secret(), storecare_shop_domain(), time() );
		wp_redirect( $link ); // phpcs:ignore WordPress.Security.SafeRedirect.wp_redirect_wp_redirect -- our own app.
		exit;
	}

	/**
	 * Back to the settings page with a message.
	 *
	 * @param string $message What went wrong.
	 */
	private static function back( $message ) {
		wp_safe_redirect( add_query_arg( array( 'page' => self::PAGE, 'storecare_error' => rawurlencode( $message ) ), admin_url( 'admin.php' ) ) );
		exit;
	}
}
